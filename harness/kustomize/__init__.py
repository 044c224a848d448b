"""A kustomization directory as the manifest: rendered by kustomize when it is installed (``kustomize build``, or
``kubectl kustomize`` from a kubectl that carries kustomize v4 or later), otherwise by the harness's own subset of
kustomize (``builtin``), which refuses the fields it does not implement by name."""
