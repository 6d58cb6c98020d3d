package scenario

// FanOutNamespace is where scenario 004-webhook-fanout runs the node-group
// controller whose deletion webhook may list nodes and pods cluster-wide.
const FanOutNamespace = "ng-system"

var _ = register(Scenario{Name: "004-webhook-fanout", Incident: "004",
	apply:   applyManifest("004-webhook-fanout.yaml", FanOutNamespace, "app=nodegroup-controller", 2),
	Summary: "a node-group controller in ng-system whose validating webhook intercepts node-group DELETE and whose ServiceAccount may list nodes and pods cluster-wide"})
