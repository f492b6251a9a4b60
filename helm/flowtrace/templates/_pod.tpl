{{/* The collector pod, shared by the StatefulSet ("single") and the Deployment ("clickhouse"). */}}
{{- define "flowtrace.podTemplate" -}}
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
      args: [serve, --config, {{ include "flowtrace.configFile" . }}]
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
        {{- toYaml .Values.resources | nindent 8 }}
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
        {{- range $name := list "otlp" "api" }}
        {{- if (index $.Values.tls $name).existingSecret }}
        - name: tls-{{ $name }}
          mountPath: /etc/flowtrace/tls/{{ $name }}
          readOnly: true
        {{- end }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "flowtrace.fullname" . }}
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
    {{- if not (and (eq (include "flowtrace.mode" .) "single") .Values.persistence.enabled) }}
    - name: data
      emptyDir:
        sizeLimit: {{ .Values.dataEmptyDir.sizeLimit }}
    {{- end }}
    {{- range $name := list "otlp" "api" }}
    {{- with (index $.Values.tls $name).existingSecret }}
    - name: tls-{{ $name }}
      secret:
        secretName: {{ . }}
        defaultMode: 0400
    {{- end }}
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
