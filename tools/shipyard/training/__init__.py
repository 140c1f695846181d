"""Training-time contracts: what the training code must print or write for
the systems that read it (Katib's metrics collectors)."""
