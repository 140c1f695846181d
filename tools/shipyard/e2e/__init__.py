"""End to end on a real cluster: the apply order, the kind cluster, predictions.

`plan` computes, from what a cluster entry point renders to, the order in
which its GitOps engine would install things (CRDs and namespaces, then
operators, then models). `cluster` drives kind and kubectl to apply exactly
that plan, wait for readiness and collect diagnostics. `predict` speaks the
Seldon protocol to a served model. `preflight` says precisely what is missing
when Docker, kind or the node image are not available. The kind suite in
tests/e2e uses all four; `shipyard e2e` runs it or prints the plan.
"""
