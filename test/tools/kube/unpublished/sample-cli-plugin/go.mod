// Not published for this release and not used by any binary built here;
// an empty module satisfies the requirement in k8s.io/kubernetes go.mod.
module k8s.io/sample-cli-plugin

go 1.26.0
