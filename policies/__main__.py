from aoai_policies.pack import build; build()  # noqa: E702, I001 - one line: PolicyPack serves until killed
