// The prometheus-operator module, for one file of it: the ServiceMonitor CustomResourceDefinition
// (example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml), which the Helm
// chart test installs before a server-side dry run of the chart's optional ServiceMonitor.
module flowtrace.local/test/tools/prometheus-operator

go 1.26

require github.com/prometheus-operator/prometheus-operator v0.85.0
