{{/* The chart name, or nameOverride. */}}
{{- define "flowtrace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-flowtrace, or the release name alone when it already contains the chart name. */}}
{{- define "flowtrace.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flowtrace.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "flowtrace.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "single" (embedded store, StatefulSet) or "clickhouse" (server, Deployment). */}}
{{- define "flowtrace.mode" -}}
{{- if .Values.clickhouse.url }}clickhouse{{ else }}single{{ end }}
{{- end }}

{{- define "flowtrace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowtrace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "flowtrace.labels" -}}
helm.sh/chart: {{ include "flowtrace.chart" . }}
{{ include "flowtrace.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ include "flowtrace.mode" . }}-collector
{{- with .Values.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "flowtrace.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flowtrace.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "flowtrace.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret and key holding the first admin token. */}}
{{- define "flowtrace.bootstrapSecretName" -}}
{{- default (printf "%s-bootstrap" (include "flowtrace.fullname" .)) .Values.auth.bootstrapToken.existingSecret }}
{{- end }}

{{- define "flowtrace.apiScheme" -}}
{{- if .Values.tls.api.existingSecret }}https{{ else }}http{{ end }}
{{- end }}

{{/* Where the pod mounts things (paths, not secrets, go into the ConfigMap). */}}
{{- define "flowtrace.configFile" -}}/etc/flowtrace/config/flowtrace.yaml{{- end }}
{{- define "flowtrace.bootstrapTokenFile" -}}/etc/flowtrace/bootstrap/{{ .Values.auth.bootstrapToken.key }}{{- end }}

{{/* One port's TLS settings for the collector config, from a kubernetes.io/tls Secret mount. */}}
{{- define "flowtrace.tlsConfig" -}}
{{- $dir := printf "/etc/flowtrace/tls/%s" .name -}}
cert_file: {{ $dir }}/tls.crt
key_file: {{ $dir }}/tls.key
client_ca_file: {{ if .tls.clientCa }}{{ $dir }}/ca.crt{{ else }}""{{ end }}
{{- end }}

{{/*
The collector config: `config` from values, with what the chart owns laid over it (listen
addresses from `ports`, the data directory, the ClickHouse server, the bootstrap token file,
TLS file paths, and the names the API answers to).
*/}}
{{- define "flowtrace.config" -}}
{{- $fullname := include "flowtrace.fullname" . -}}
{{- $ns := include "flowtrace.namespace" . -}}
{{- $hosts := list $fullname (printf "%s.%s" $fullname $ns) (printf "%s.%s.svc" $fullname $ns) (printf "%s.%s.svc.%s" $fullname $ns .Values.clusterDomain) -}}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}{{ if .host }}{{ $hosts = append $hosts .host }}{{ end }}{{ end }}
{{- end }}
{{- $config := deepCopy (default dict .Values.config) -}}
{{- $receivers := default dict (get $config "receivers") -}}{{- $_ := set $config "receivers" $receivers -}}
{{- $otlp := default dict (get $receivers "otlp") -}}{{- $_ := set $receivers "otlp" $otlp -}}
{{- $grpcCfg := default dict (get $otlp "grpc") -}}{{- $_ := set $otlp "grpc" $grpcCfg -}}
{{- $httpCfg := default dict (get $otlp "http") -}}{{- $_ := set $otlp "http" $httpCfg -}}
{{- $apiCfg := default dict (get $config "api") -}}{{- $_ := set $config "api" $apiCfg -}}
{{- $storage := default dict (get $config "storage") -}}{{- $_ := set $config "storage" $storage -}}
{{- $ch := default dict (get $storage "clickhouse") -}}{{- $_ := set $storage "clickhouse" $ch -}}
{{- $auth := default dict (get $config "auth") -}}{{- $_ := set $config "auth" $auth -}}
{{- $grpc := index .Values.ports "grpc-otlp" -}}
{{- $http := index .Values.ports "http-otlp" -}}
{{- $api := index .Values.ports "http-api" -}}
{{- $_ := set $grpcCfg "enabled" $grpc.enabled -}}
{{- $_ := set $grpcCfg "endpoint" (printf "0.0.0.0:%v" $grpc.containerPort) -}}
{{- $_ := set $httpCfg "enabled" $http.enabled -}}
{{- $_ := set $httpCfg "endpoint" (printf "0.0.0.0:%v" $http.containerPort) -}}
{{- $_ := set $apiCfg "endpoint" (printf "0.0.0.0:%v" $api.containerPort) -}}
{{- $_ := set $apiCfg "allowed_hosts" (concat $hosts (default list (get $apiCfg "allowed_hosts")) | uniq) -}}
{{- $_ := set $storage "data_dir" "/data" -}}
{{- $_ := set $ch "url" .Values.clickhouse.url -}}
{{- $_ := set $ch "username" .Values.clickhouse.username -}}
{{- $_ := set $ch "database" .Values.clickhouse.database -}}
{{- $_ := set $auth "bootstrap_token_file" (include "flowtrace.bootstrapTokenFile" .) -}}
{{- if .Values.tls.otlp.existingSecret }}
{{- $_ := set $grpcCfg "tls" (include "flowtrace.tlsConfig" (dict "name" "otlp" "tls" .Values.tls.otlp) | fromYaml) -}}
{{- $_ := set $httpCfg "tls" (include "flowtrace.tlsConfig" (dict "name" "otlp" "tls" .Values.tls.otlp) | fromYaml) -}}
{{- end }}
{{- if .Values.tls.api.existingSecret }}
{{- $_ := set $apiCfg "tls" (include "flowtrace.tlsConfig" (dict "name" "api" "tls" .Values.tls.api) | fromYaml) -}}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* Refuses values that cannot work, with the reason. */}}
{{- define "flowtrace.validate" -}}
{{- if and .Values.autoscaling.enabled (eq (include "flowtrace.mode" .) "single") }}
{{- fail "autoscaling.enabled needs clickhouse.url: the embedded store (single mode) runs exactly one pod" }}
{{- end }}
{{- if .Values.tls.api.clientCa }}
{{- fail "tls.api.clientCa cannot be used in Kubernetes: the kubelet's probes (/healthz, /readyz) present no client certificate, so the pod would never be ready. Require client certificates on the OTLP ports (tls.otlp.clientCa) and tokens on the API" }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled (not .Values.serviceMonitor.tokenSecret.name) }}
{{- fail "serviceMonitor.enabled needs serviceMonitor.tokenSecret.name: /metrics requires a token with the read scope" }}
{{- end }}
{{- end }}
