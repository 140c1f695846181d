"""Prometheus rules as this repository writes them, and what judges them.

PrometheusRules reach Prometheus through the Prometheus Operator, which
refuses a whole object when one rule in it does not load, and an alert on a
metric nobody emits loads fine and never fires. So the rules are judged three
ways, each by the most faithful means there is offline:

    promtool.py        the real `promtool check rules` (SY317) and `promtool test
                       rules` (the alert tests beside each model), pinned like helm
    promql.py          what an expression selects: metric names, label matchers,
                       grouping labels (a maintained PromQL parser, promql-parser)
    seldon_metrics.py  what seldon-core 1.17.1 emits, as data read from its
                       source: the metrics, their labels and label values (SY318)

Layer: above render/ (it runs a tool the same way) and below checks/, which
turns what these modules find into findings (checks/policy_monitoring.py).
"""
