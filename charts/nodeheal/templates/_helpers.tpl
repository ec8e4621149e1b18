{{/* Names, labels and shared snippets of the nodeheal chart. */}}

{{- define "nodeheal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "nodeheal.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "nodeheal.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "nodeheal.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "nodeheal.labels" -}}
app.kubernetes.io/name: {{ include "nodeheal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component: call with (dict "root" $ "component" "serve"). */}}
{{- define "nodeheal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nodeheal.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "nodeheal.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
Redis URL. With redis.existingSecret, the password is spliced in as $(NODEHEAL_REDIS_PASSWORD),
which Kubernetes expands from the env var of that name defined before NODEHEAL_REDIS_URL.
*/}}
{{- define "nodeheal.redisUrl" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s-redis:6379" (include "nodeheal.fullname" .) -}}
{{- else -}}
{{- $url := required "redis.url is required (or set redis.enabled)" .Values.redis.url -}}
{{- if .Values.redis.existingSecret -}}
{{- $rest := regexReplaceAll "^rediss?://" $url "" -}}
{{- if contains "@" $rest -}}
{{- fail "redis.url must not contain credentials when redis.existingSecret is set: the password comes from the Secret" -}}
{{- end -}}
{{- $scheme := regexFind "^rediss?://" $url -}}
{{- printf "%s%s:$(NODEHEAL_REDIS_PASSWORD)@%s" $scheme .Values.redis.username $rest -}}
{{- else -}}
{{- $url -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* ServiceAccount names: nodeheal's (serve and worker) and the agent's. */}}
{{- define "nodeheal.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "nodeheal.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "nodeheal.agentServiceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (printf "%s-agent" (include "nodeheal.fullname" .)) .Values.serviceAccount.agentName -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.agentName -}}
{{- end -}}
{{- end -}}

{{/* Secret names: the chart's own when a value is given, else the existing one. */}}
{{- define "nodeheal.webhookSecretName" -}}
{{- if .Values.secrets.webhookToken -}}
{{- printf "%s-webhook" (include "nodeheal.fullname" .) -}}
{{- else -}}
{{- required "secrets.webhookToken or secrets.existingWebhookSecret is required: serve refuses unauthenticated webhooks" .Values.secrets.existingWebhookSecret -}}
{{- end -}}
{{- end -}}

{{- define "nodeheal.adminSecretName" -}}
{{- if .Values.secrets.adminToken -}}
{{- printf "%s-admin" (include "nodeheal.fullname" .) -}}
{{- else -}}
{{- .Values.secrets.existingAdminSecret -}}
{{- end -}}
{{- end -}}

{{- define "nodeheal.agentSecretName" -}}
{{- if .Values.secrets.agentSecret -}}
{{- printf "%s-agent" (include "nodeheal.fullname" .) -}}
{{- else -}}
{{- required "secrets.agentSecret or secrets.existingAgentSecret is required: workers and agents authenticate with it" .Values.secrets.existingAgentSecret -}}
{{- end -}}
{{- end -}}

{{/* Hardened container settings for serve and worker (the agent is privileged, see its template). */}}
{{- define "nodeheal.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Environment shared by serve and worker (DESIGN.md contract). */}}
{{- define "nodeheal.commonEnv" -}}
{{ if and (not .Values.redis.enabled) .Values.redis.existingSecret -}}
- name: NODEHEAL_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.existingSecretPasswordKey }}
{{ end -}}
{{- if .Values.redis.sentinel.sentinels }}
{{- if .Values.redis.enabled }}
{{- fail "redis.sentinel.sentinels and redis.enabled exclude each other: the in-chart Redis has no Sentinel" }}
{{- end }}
{{- /* The first line of this block may follow the password's secretKeyRef directly. */ -}}
- name: NODEHEAL_REDIS_SENTINELS
  value: {{ join "," .Values.redis.sentinel.sentinels | quote }}
- name: NODEHEAL_REDIS_SENTINEL_MASTER
  value: {{ required "redis.sentinel.masterName is required with redis.sentinel.sentinels" .Values.redis.sentinel.masterName | quote }}
{{- if and .Values.redis.existingSecret .Values.redis.username }}
- name: NODEHEAL_REDIS_USERNAME
  value: {{ .Values.redis.username | quote }}
{{- end }}
{{- if .Values.redis.sentinel.existingSecretPasswordKey }}
- name: NODEHEAL_REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "redis.existingSecret is required with redis.sentinel.existingSecretPasswordKey" .Values.redis.existingSecret }}
      key: {{ .Values.redis.sentinel.existingSecretPasswordKey }}
{{- end }}
{{- else -}}
- name: NODEHEAL_REDIS_URL
  value: {{ include "nodeheal.redisUrl" . | quote }}
{{- end }}
- name: NODEHEAL_DRY_RUN
  value: {{ .Values.config.dryRun | quote }}
- name: NODEHEAL_LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
{{- if .Values.config.cluster }}
- name: NODEHEAL_CLUSTER
  value: {{ .Values.config.cluster | quote }}
- name: NODEHEAL_CLUSTER_LABEL
  value: {{ .Values.config.clusterLabel | quote }}
{{- end }}
{{- if .Values.config.publicUrl }}
- name: NODEHEAL_PUBLIC_URL
  value: {{ .Values.config.publicUrl | quote }}
{{- end }}
{{- if .Values.config.remedies }}
- name: NODEHEAL_RULES
  value: /etc/nodeheal/rules/remedies.yaml
{{- end }}
{{- if include "nodeheal.adminSecretName" . }}
- name: NODEHEAL_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "nodeheal.adminSecretName" . }}
      key: token
{{- end }}
{{- with .Values.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Prefer spreading replicas over nodes: nodeheal should not share the fate of one node. */}}
{{- define "nodeheal.spread" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "nodeheal.selectorLabels" (dict "root" .root "component" .component) | nindent 12 }}
{{- end -}}
