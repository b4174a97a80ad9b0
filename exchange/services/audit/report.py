"""What an audit found: one result per check, each finding one line an operator can act on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class CheckResult:
    """One check's verdict: what it looked at (counts by name) and what is wrong."""

    name: str
    checked: dict[str, int] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    # Rows or legs the snapshot caught between two workers' commits: not findings.
    in_flight: int = 0
    # What the check measured per asset code, zero when all is well (the live exporter's gauges).
    measures: dict[str, Decimal] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def fail(self, finding: str) -> None:
        self.findings.append(finding)


@dataclass
class AuditReport:
    checks: list[CheckResult]
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def findings(self) -> list[str]:
        return [f"{check.name}: {finding}" for check in self.checks for finding in check.findings]

    def as_table(self) -> str:
        width = max(len(check.name) for check in self.checks)
        lines = [f"{'check':<{width}}  result  findings  in flight  checked"]
        for check in self.checks:
            counts = ", ".join(f"{count} {what}" for what, count in check.checked.items())
            verdict = "OK" if check.ok else "FAILED"
            findings, in_flight = len(check.findings), check.in_flight
            lines.append(f"{check.name:<{width}}  {verdict:<6}  {findings:>8}  {in_flight:>9}  {counts}")
        return "\n".join(lines)

    def as_json(self) -> str:
        return json.dumps(
            {
                "ok": self.ok,
                "attempts": self.attempts,
                "checks": [
                    {
                        "name": check.name,
                        "ok": check.ok,
                        "checked": check.checked,
                        "in_flight": check.in_flight,
                        "findings": check.findings,
                    }
                    for check in self.checks
                ],
            },
            indent=2,
        )
