{{/*
Self-fence (agent.selfFence, docs/agent.md "Self-fence"): the nodes that opt in, the safe time,
and the checks that refuse values the agent would refuse at start.
*/}}

{{/* The nodes whose agents self-fence: agent.nodeSelector and agent.selfFence.nodeSelector (JSON). */}}
{{- define "nodeheal.selfFenceSelector" -}}
{{- $f := .Values.agent.selfFence -}}
{{- if not $f.nodeSelector -}}
{{- fail "agent.selfFence.nodeSelector is required with agent.selfFence.enabled: the labels of the nodes (a pool) that self-fence, e.g. {nodeheal.io/pool: db}" -}}
{{- end -}}
{{- range $key, $value := $f.nodeSelector -}}
{{- if and (hasKey $.Values.agent.nodeSelector $key) (ne (index $.Values.agent.nodeSelector $key) $value) -}}
{{- fail (printf "agent.selfFence.nodeSelector %s=%s contradicts agent.nodeSelector %s=%s: no agent would run on those nodes" $key $value $key (index $.Values.agent.nodeSelector $key)) -}}
{{- end -}}
{{- end -}}
{{- toJson (merge (deepCopy $f.nodeSelector) (deepCopy .Values.agent.nodeSelector)) -}}
{{- end -}}

{{/*
Seconds after a self-fencing node was last heard from after which it may be assumed down:
unreachableSeconds + checkIntervalSeconds + 2 × probeTimeoutSeconds + rebootSeconds, the same
formula as selfFenceSafeTimeSeconds in src/safety/self-fence.ts (each term explained there).
*/}}
{{- define "nodeheal.selfFenceSafeTimeSeconds" -}}
{{- $f := .Values.agent.selfFence -}}
{{- if gt (int $f.probeTimeoutSeconds) (int $f.checkIntervalSeconds) -}}
{{- fail "agent.selfFence.probeTimeoutSeconds must be at most agent.selfFence.checkIntervalSeconds" -}}
{{- end -}}
{{- if lt (int $f.unreachableSeconds) (mul 2 $f.checkIntervalSeconds) -}}
{{- fail "agent.selfFence.unreachableSeconds must be at least twice agent.selfFence.checkIntervalSeconds: one lost check must never fence" -}}
{{- end -}}
{{- if not (hasKey .Values.agent.catalog.commands "reboot") -}}
{{- fail "agent.selfFence needs the host command reboot in agent.catalog.commands" -}}
{{- end -}}
{{- add $f.unreachableSeconds $f.checkIntervalSeconds (mul 2 $f.probeTimeoutSeconds) $f.rebootSeconds -}}
{{- end -}}

{{/* NODEHEAL_SELF_FENCE for the worker: {"selector": ..., "safeTimeSeconds": ...}. */}}
{{- define "nodeheal.selfFenceWorker" -}}
{{- $selector := include "nodeheal.selfFenceSelector" . | fromJson -}}
{{- toJson (dict "selector" $selector "safeTimeSeconds" (int (include "nodeheal.selfFenceSafeTimeSeconds" .))) -}}
{{- end -}}

{{/* The headless Service through which self-fencing agents find their peers. */}}
{{- define "nodeheal.selfFencePeersName" -}}
{{- printf "%s-agent-peers" (include "nodeheal.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
