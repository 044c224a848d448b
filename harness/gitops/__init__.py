"""GitOps image automation, simulated without a cluster: Flux's image policies picking tags, the setter markers
that rewrite the manifest, and whether the Kustomization that applies the Job can update it."""
