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
