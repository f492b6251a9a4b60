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

{{/* "single" (embedded store, StatefulSet), "clickhouse" (server, Deployment) or "ha" (three tiers by role). */}}
{{- define "flowtrace.mode" -}}
{{- if .Values.ha.enabled }}ha{{ else if .Values.clickhouse.url }}clickhouse{{ else }}single{{ end }}
{{- end }}

{{/*
Templates given a role context (the root merged with `role`: ingest, process or query; see
templates/ha/) render that tier; given the root, the single workload. `get` reads the role
without failing under `helm lint --strict` (missingkey=error) when there is none.
*/}}
{{- define "flowtrace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowtrace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- with get . "role" }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{/* <fullname>-<role>, from (list <root or role context> <role>); short enough for "-headless" after it. */}}
{{- define "flowtrace.roleName" -}}
{{- printf "%s-%s" (include "flowtrace.fullname" (index . 0) | trunc 45 | trimSuffix "-") (index . 1) }}
{{- end }}

{{/* The process tier's headless Service: one A record per pod, for the load balancer's DNS resolver. */}}
{{- define "flowtrace.processHeadlessName" -}}
{{- include "flowtrace.roleName" (list . "process") }}-headless
{{- end }}

{{/* The Service OTLP clients send to: the ingest tier's in "ha" mode. */}}
{{- define "flowtrace.otlpServiceName" -}}
{{- if .Values.ha.enabled }}{{ include "flowtrace.roleName" (list . "ingest") }}{{ else }}{{ include "flowtrace.fullname" . }}{{ end }}
{{- end }}

{{/* The Service of the query API (and the Ingress's backend): the query tier's in "ha" mode. */}}
{{- define "flowtrace.apiServiceName" -}}
{{- if .Values.ha.enabled }}{{ include "flowtrace.roleName" (list . "query") }}{{ else }}{{ include "flowtrace.fullname" . }}{{ end }}
{{- end }}

{{- define "flowtrace.labels" -}}
helm.sh/chart: {{ include "flowtrace.chart" . }}
{{ include "flowtrace.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- if not (get . "role") }}
app.kubernetes.io/component: {{ include "flowtrace.mode" . }}-collector
{{- end }}
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
{{- $role := get . "role" -}}
{{- $fullname := include "flowtrace.fullname" . -}}
{{- if $role }}
{{- /* A tier answers to its own Service's names. */}}
{{- $fullname = ternary (include "flowtrace.processHeadlessName" .) (include "flowtrace.roleName" (list . $role)) (eq $role "process") -}}
{{- end }}
{{- $ns := include "flowtrace.namespace" . -}}
{{- $hosts := list $fullname (printf "%s.%s" $fullname $ns) (printf "%s.%s.svc" $fullname $ns) (printf "%s.%s.svc.%s" $fullname $ns .Values.clusterDomain) -}}
{{- if and .Values.ingress.enabled (has $role (list "" "query")) }}
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
{{- if .Values.encryption.existingSecret }}
{{- $prev := list -}}{{- range .Values.encryption.previousKeys }}{{ $prev = append $prev (printf "/etc/flowtrace/encryption/%s" .) }}{{ end -}}
{{- $_ := set $storage "encryption" (dict "key_file" (printf "/etc/flowtrace/encryption/%s" .Values.encryption.key) "previous_key_files" $prev "spool_dir" "/spool") -}}
{{- end }}
{{- /* In "ha" mode only the ingest tier faces clients; process takes the load balancer's OTLP in the cluster. */}}
{{- if and .Values.tls.otlp.existingSecret (has $role (list "" "ingest")) }}
{{- $_ := set $grpcCfg "tls" (include "flowtrace.tlsConfig" (dict "name" "otlp" "tls" .Values.tls.otlp) | fromYaml) -}}
{{- $_ := set $httpCfg "tls" (include "flowtrace.tlsConfig" (dict "name" "otlp" "tls" .Values.tls.otlp) | fromYaml) -}}
{{- end }}
{{- if .Values.tls.api.existingSecret }}
{{- $_ := set $apiCfg "tls" (include "flowtrace.tlsConfig" (dict "name" "api" "tls" .Values.tls.api) | fromYaml) -}}
{{- end }}
{{- if $role }}
{{- include "flowtrace.haConfig" (dict "ctx" . "config" $config "role" $role) }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
"ha" mode: lays a tier's part over its config (dict ctx, config, role). ingest publishes to the
transport (Kafka, or the load balancer over the process tier's headless Service) and to nothing
else; process consumes it and runs the other configured exporters (whole, sampled traces);
query serves and forwards nothing. `config.exporters.kafka` / `.loadbalancing` and
`config.receivers.kafka` may tune the transport (timeouts, queues, offsets): the chart's keys win.
*/}}
{{- define "flowtrace.haConfig" -}}
{{- $ctx := .ctx -}}{{- $config := .config -}}{{- $role := .role -}}
{{- $ha := $ctx.Values.ha -}}
{{- $_ := set $config "role" $role -}}
{{- $receivers := get $config "receivers" -}}
{{- $userKafkaReceiver := default dict (get $receivers "kafka") -}}
{{- $_ := unset $receivers "kafka" -}}
{{- $userExporters := default dict (get $config "exporters") -}}
{{- $_ := unset $config "exporters" -}}
{{- if eq $role "ingest" }}
{{- if eq $ha.transport "kafka" }}
{{- $kafka := include "flowtrace.kafkaConnection" $ctx | fromYaml -}}
{{- $_ := set $kafka "topic" $ha.kafka.topic -}}
{{- $_ := set $kafka "compression" $ha.kafka.compression -}}
{{- $_ := set $config "exporters" (dict "kafka" (merge $kafka (default dict (get $userExporters "kafka")))) -}}
{{- else }}
{{- /* Plain gRPC inside the cluster (Istio's sidecars encrypt it when istio.enabled). */}}
{{- $otlp := dict "protocol" "grpc" "tls" (dict "insecure" true) -}}
{{- if $ha.loadbalancing.tokenSecret.name }}
{{- $_ := set $otlp "headers" (dict "authorization" "Bearer ${env:FLOWTRACE_FORWARD_TOKEN}") -}}
{{- end }}
{{- $port := index $ctx.Values.ports "grpc-otlp" -}}
{{- $dns := dict "hostname" (include "flowtrace.processDnsName" $ctx) "port" $port.containerPort "interval_seconds" $ha.loadbalancing.intervalSeconds -}}
{{- $lb := dict "routing_key" "traceID" "protocol" (dict "otlp" $otlp) "resolver" (dict "dns" $dns) -}}
{{- $_ := set $config "exporters" (dict "loadbalancing" (merge $lb (default dict (get $userExporters "loadbalancing")))) -}}
{{- end }}
{{- else if eq $role "process" }}
{{- if eq $ha.transport "kafka" }}
{{- $kafka := include "flowtrace.kafkaConnection" $ctx | fromYaml -}}
{{- $_ := set $kafka "enabled" true -}}
{{- $_ := set $kafka "topic" $ha.kafka.topic -}}
{{- $_ := set $kafka "group_id" $ha.kafka.groupId -}}
{{- $_ := set $receivers "kafka" (merge $kafka $userKafkaReceiver) -}}
{{- end }}
{{- $forwarding := omit $userExporters "kafka" "loadbalancing" -}}
{{- if $forwarding }}
{{- $_ := set $config "exporters" $forwarding -}}
{{- end }}
{{- end }}
{{- end }}

{{/* The process tier's headless Service's FQDN: the load balancer resolves it to the pods' addresses. */}}
{{- define "flowtrace.processDnsName" -}}
{{- printf "%s.%s.svc.%s" (include "flowtrace.processHeadlessName" .) (include "flowtrace.namespace" .) .Values.clusterDomain }}
{{- end }}

{{/* Where the Kafka TLS Secret is mounted. */}}
{{- define "flowtrace.kafkaTlsDir" -}}/etc/flowtrace/kafka-tls{{- end }}

{{/* The Kafka connection settings ingest and process share; SASL credentials as ${env:NAME} (from ha.kafka.sasl.existingSecret). */}}
{{- define "flowtrace.kafkaConnection" -}}
{{- $k := .Values.ha.kafka -}}
{{- $dir := include "flowtrace.kafkaTlsDir" . -}}
brokers:
  {{- toYaml $k.brokers | nindent 2 }}
client_id: {{ $k.clientId | quote }}
tls:
  enabled: {{ $k.tls.enabled }}
  {{- if and $k.tls.enabled $k.tls.existingSecret }}
  {{- if $k.tls.caKey }}
  ca_file: {{ $dir }}/{{ $k.tls.caKey }}
  {{- end }}
  {{- if $k.tls.certKey }}
  cert_file: {{ $dir }}/{{ $k.tls.certKey }}
  key_file: {{ $dir }}/{{ $k.tls.keyKey }}
  {{- end }}
  {{- end }}
  insecure_skip_verify: {{ $k.tls.insecureSkipVerify }}
{{- if $k.sasl.mechanism }}
sasl:
  mechanism: {{ $k.sasl.mechanism }}
  username: ${env:KAFKA_SASL_USERNAME}
  password: ${env:KAFKA_SASL_PASSWORD}
{{- end }}
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
{{- if and .Values.istio.enabled .Values.linkerd.enabled }}
{{- fail "istio.enabled and linkerd.enabled: a pod joins one mesh; enable the one your cluster runs" }}
{{- end }}
{{- if .Values.ha.enabled }}
{{- include "flowtrace.validateHa" . }}
{{- end }}
{{- end }}

{{/* "ha" mode's refusals: what the three tiers cannot work without. */}}
{{- define "flowtrace.validateHa" -}}
{{- $ha := .Values.ha -}}
{{- if not .Values.clickhouse.url }}
{{- fail "ha.enabled needs clickhouse.url: the process and query tiers share a ClickHouse server (the embedded store is one process per data directory)" }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- fail "autoscaling is the clickhouse mode's; with ha.enabled, scale the ingest tier with ha.ingest.autoscaling" }}
{{- end }}
{{- if and (eq $ha.transport "kafka") (not $ha.kafka.brokers) }}
{{- fail "ha.transport kafka needs ha.kafka.brokers (host:port of your Kafka cluster's bootstrap brokers), or set ha.transport=loadbalancing" }}
{{- end }}
{{- if and (eq $ha.transport "kafka") $ha.kafka.sasl.mechanism (not $ha.kafka.sasl.existingSecret) }}
{{- fail "ha.kafka.sasl.mechanism needs ha.kafka.sasl.existingSecret: the Secret holding the SASL user name and password" }}
{{- end }}
{{- if and (eq $ha.transport "kafka") $ha.kafka.tls.certKey (not $ha.kafka.tls.keyKey) }}
{{- fail "ha.kafka.tls.certKey needs ha.kafka.tls.keyKey: mutual TLS needs the certificate and its key" }}
{{- end }}
{{- if and (eq $ha.transport "kafka") $ha.kafka.tls.enabled $ha.kafka.tls.certKey (not $ha.kafka.tls.existingSecret) }}
{{- fail "ha.kafka.tls.certKey names a key of ha.kafka.tls.existingSecret: set it" }}
{{- end }}
{{- if and (eq $ha.transport "loadbalancing") (dig "auth" "ingest" "required" false .Values.config) (not $ha.loadbalancing.tokenSecret.name) }}
{{- fail "config.auth.ingest.required with ha.transport loadbalancing needs ha.loadbalancing.tokenSecret.name: a Secret with a token of the ingest scope, which the ingest tier sends to the process tier" }}
{{- end }}
{{- if and (eq $ha.transport "loadbalancing") (not (index .Values.ports "grpc-otlp").enabled) }}
{{- fail "ha.transport loadbalancing forwards over OTLP/gRPC: ports.grpc-otlp.enabled must stay true" }}
{{- end }}
{{- end }}
