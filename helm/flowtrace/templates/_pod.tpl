{{/*
The collector pod, shared by the StatefulSet ("single"), the Deployment ("clickhouse") and, given
a role context, each "ha" tier (templates/ha/).
*/}}
{{- define "flowtrace.podTemplate" -}}
{{- $role := get . "role" -}}
{{- $ha := .Values.ha -}}
{{- $kafka := and $ha.enabled (eq $ha.transport "kafka") (has $role (list "ingest" "process")) -}}
{{- $tlsMounts := list "api" -}}
{{- if has $role (list "" "ingest") }}{{ $tlsMounts = list "otlp" "api" }}{{ end -}}
metadata:
  labels:
    {{- include "flowtrace.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- if .Values.istio.enabled }}
    sidecar.istio.io/inject: "true"
    {{- end }}
  annotations:
    # A config change rolls the pods (the collector reads its config at start).
    checksum/config: {{ include "flowtrace.config" . | sha256sum }}
    {{- if .Values.linkerd.enabled }}
    linkerd.io/inject: enabled
    {{- with .Values.linkerd.defaultInboundPolicy }}
    config.linkerd.io/default-inbound-policy: {{ . }}
    {{- end }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "flowtrace.serviceAccountName" . }}
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  containers:
    - name: collector
      image: {{ include "flowtrace.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: [serve, --config, {{ include "flowtrace.configFile" . }}{{ with $role }}, --role, {{ . }}{{ end }}]
      env:
        # The image sets these for `docker run`, and the environment outranks --config: set
        # them to the values the ConfigMap has, so that the ConfigMap is the one truth.
        - name: FLOWTRACE_OTLP_GRPC
          value: {{ printf "0.0.0.0:%v" (index .Values.ports "grpc-otlp").containerPort | quote }}
        - name: FLOWTRACE_OTLP_HTTP
          value: {{ printf "0.0.0.0:%v" (index .Values.ports "http-otlp").containerPort | quote }}
        - name: FLOWTRACE_API
          value: {{ printf "0.0.0.0:%v" (index .Values.ports "http-api").containerPort | quote }}
        - name: FLOWTRACE_DATA
          value: /data
        - name: FLOWTRACE_AUTH_BOOTSTRAP_TOKEN_FILE
          value: {{ include "flowtrace.bootstrapTokenFile" . }}
        - name: TMPDIR
          value: /tmp
        {{- with $role }}
        - name: FLOWTRACE_ROLE
          value: {{ . }}
        {{- end }}
        {{- if and $kafka $ha.kafka.sasl.mechanism }}
        # ${env:KAFKA_SASL_USERNAME} / ${env:KAFKA_SASL_PASSWORD} in the config's Kafka settings.
        - name: KAFKA_SASL_USERNAME
          valueFrom:
            secretKeyRef:
              name: {{ $ha.kafka.sasl.existingSecret }}
              key: {{ $ha.kafka.sasl.usernameKey }}
        - name: KAFKA_SASL_PASSWORD
          valueFrom:
            secretKeyRef:
              name: {{ $ha.kafka.sasl.existingSecret }}
              key: {{ $ha.kafka.sasl.passwordKey }}
        {{- end }}
        {{- if and (eq $role "ingest") (eq $ha.transport "loadbalancing") $ha.loadbalancing.tokenSecret.name }}
        # The ingest-scope token the load balancer sends to the process tier (${env:FLOWTRACE_FORWARD_TOKEN}).
        - name: FLOWTRACE_FORWARD_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ $ha.loadbalancing.tokenSecret.name }}
              key: {{ $ha.loadbalancing.tokenSecret.key }}
        {{- end }}
        {{- if .Values.clickhouse.existingSecret }}
        - name: CLICKHOUSE_PASSWORD
          valueFrom:
            secretKeyRef:
              name: {{ .Values.clickhouse.existingSecret }}
              key: {{ .Values.clickhouse.passwordKey }}
        - name: FLOWTRACE_STORAGE_CLICKHOUSE_GUEST_PASSWORD
          valueFrom:
            secretKeyRef:
              name: {{ .Values.clickhouse.existingSecret }}
              key: {{ .Values.clickhouse.guestPasswordKey }}
              optional: true
        {{- end }}
        {{- range .Values.secretEnv }}
        - name: {{ .name }}
          valueFrom:
            secretKeyRef:
              name: {{ .secretName }}
              key: {{ .key }}
        {{- end }}
        {{- with .Values.extraEnvs }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        {{- include "flowtrace.containerPorts" . | trim | nindent 8 }}
      livenessProbe:
        {{- include "flowtrace.probe" (dict "probe" .Values.livenessProbe "root" .) | nindent 8 }}
      readinessProbe:
        {{- include "flowtrace.probe" (dict "probe" .Values.readinessProbe "root" .) | nindent 8 }}
      resources:
        {{- toYaml (ternary (index $ha (default "ingest" $role)).resources .Values.resources (not (empty $role))) | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/flowtrace/config
          readOnly: true
        - name: bootstrap-token
          mountPath: /etc/flowtrace/bootstrap
          readOnly: true
        - name: data
          mountPath: /data
        - name: tmp
          mountPath: /tmp
        {{- if .Values.encryption.existingSecret }}
        - name: encryption-keys
          mountPath: /etc/flowtrace/encryption
          readOnly: true
        - name: spool
          mountPath: /spool
        {{- end }}
        {{- range $name := $tlsMounts }}
        {{- if (index $.Values.tls $name).existingSecret }}
        - name: tls-{{ $name }}
          mountPath: /etc/flowtrace/tls/{{ $name }}
          readOnly: true
        {{- end }}
        {{- end }}
        {{- if and $kafka $ha.kafka.tls.enabled $ha.kafka.tls.existingSecret }}
        - name: kafka-tls
          mountPath: {{ include "flowtrace.kafkaTlsDir" . }}
          readOnly: true
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ if $role }}{{ include "flowtrace.roleName" (list . $role) }}{{ else }}{{ include "flowtrace.fullname" . }}{{ end }}
    - name: bootstrap-token
      secret:
        secretName: {{ include "flowtrace.bootstrapSecretName" . }}
        defaultMode: 0400
        items:
          - key: {{ .Values.auth.bootstrapToken.key }}
            path: {{ .Values.auth.bootstrapToken.key }}
    - name: tmp
      emptyDir:
        sizeLimit: {{ .Values.tmpEmptyDir.sizeLimit }}
    {{- with .Values.encryption }}{{ if .existingSecret }}
    - name: encryption-keys
      secret:
        secretName: {{ .existingSecret }}
        defaultMode: 0400
        items:
          {{- range prepend .previousKeys .key }}
          - key: {{ . }}
            path: {{ . }}
          {{- end }}
    {{- /* The insert spool holds rows in the clear: memory (tmpfs) only. */}}
    - name: spool
      emptyDir:
        medium: Memory
        sizeLimit: {{ .spoolSizeLimit }}
    {{- end }}{{ end }}
    {{- /* A volume claim holds /data in "single" mode and for the "ha" process tier (its journal); else an emptyDir. */}}
    {{- if not (or (and (eq (include "flowtrace.mode" .) "single") .Values.persistence.enabled) (and (eq $role "process") $ha.process.persistence.enabled)) }}
    - name: data
      emptyDir:
        sizeLimit: {{ .Values.dataEmptyDir.sizeLimit }}
    {{- end }}
    {{- range $name := $tlsMounts }}
    {{- with (index $.Values.tls $name).existingSecret }}
    - name: tls-{{ $name }}
      secret:
        secretName: {{ . }}
        defaultMode: 0400
    {{- end }}
    {{- end }}
    {{- if and $kafka $ha.kafka.tls.enabled $ha.kafka.tls.existingSecret }}
    - name: kafka-tls
      secret:
        secretName: {{ $ha.kafka.tls.existingSecret }}
        defaultMode: 0400
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* A probe from values; HTTPS when the API has TLS (kubelet does not verify the certificate). */}}
{{- define "flowtrace.probe" -}}
{{- $probe := deepCopy .probe -}}
{{- if and (hasKey $probe "httpGet") .root.Values.tls.api.existingSecret }}
{{- $_ := set $probe.httpGet "scheme" "HTTPS" -}}
{{- end }}
{{- toYaml $probe }}
{{- end }}
