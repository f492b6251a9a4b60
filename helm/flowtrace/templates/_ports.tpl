{{/* The enabled ports, as a list of {name, port} for Services, containers and policies. */}}
{{- define "flowtrace.servicePorts" -}}
{{- range $name, $p := .Values.ports }}
{{- if or (eq $name "http-api") $p.enabled }}
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
{{- range $name, $p := .Values.ports }}
{{- if or (eq $name "http-api") $p.enabled }}
- name: {{ $name }}
  containerPort: {{ $p.containerPort }}
  protocol: {{ $p.protocol }}
{{- end }}
{{- end }}
{{- end }}
