{{/* The enabled ports, as a list of {name, port} for Services, containers and policies; the query tier has only http-api. */}}
{{- define "flowtrace.servicePorts" -}}
{{- $apiOnly := eq (get . "role") "query" }}
{{- range $name, $p := .Values.ports }}
{{- if or (eq $name "http-api") (and $p.enabled (not $apiOnly)) }}
- name: {{ $name }}
  port: {{ $p.servicePort }}
  targetPort: {{ $name }}
  protocol: {{ $p.protocol }}
  {{- with $p.appProtocol }}
  appProtocol: {{ . }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flowtrace.containerPorts" -}}
{{- $apiOnly := eq (get . "role") "query" }}
{{- range $name, $p := .Values.ports }}
{{- if or (eq $name "http-api") (and $p.enabled (not $apiOnly)) }}
- name: {{ $name }}
  containerPort: {{ $p.containerPort }}
  protocol: {{ $p.protocol }}
{{- end }}
{{- end }}
{{- end }}
