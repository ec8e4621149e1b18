// Pins prometheus-operator's root module, only for its CRD manifests (ServiceMonitor,
// PrometheusRule): tests read them from the module cache (`go mod download -json`) and install
// them in the local stack before applying the chart's objects. Nothing here is built.
module nodeheal.local/tools/prometheus-operator

go 1.26.0

require github.com/prometheus-operator/prometheus-operator v0.85.0
