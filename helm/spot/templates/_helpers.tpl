{{/* "btc=1,eth=2,*=4" from the symbolShards map */}}
{{- define "spot.symbolShards" -}}
{{- $pairs := list -}}
{{- range $asset, $shard := .Values.symbolShards -}}
{{- $pairs = append $pairs (printf "%s=%v" $asset $shard) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* The distinct matching shards of the map */}}
{{- define "spot.matchingShards" -}}
{{- $shards := list -}}
{{- range $asset, $shard := .Values.symbolShards -}}
{{- $shards = append $shards (int $shard) -}}
{{- end -}}
{{- $shards | uniq | sortAlpha | join "," -}}
{{- end -}}

{{- define "spot.env" -}}
envFrom:
  - configMapRef: {name: {{ .Release.Name }}-config}
  - secretRef: {name: {{ .Values.existingSecret }}}
{{- end -}}

{{/* Every pod: a non-root user (the image's 10001), no service-account token */}}
{{- define "spot.podSecurity" -}}
automountServiceAccountToken: false
securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
{{- end -}}

{{/* Every container: a read-only root filesystem; /tmp is the pod's emptyDir "tmp" */}}
{{- define "spot.containerSecurity" -}}
securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
volumeMounts: [{name: tmp, mountPath: /tmp}]
{{- end -}}

{{- define "spot.tmpVolume" -}}
volumes: [{name: tmp, emptyDir: {sizeLimit: 64Mi}}]
{{- end -}}
