"""CrossGuard policies for the Azure OpenAI platform: pure checks over engine-shaped (camelCase) resources.

Nothing here imports the Pulumi program, its settings or a provider SDK; resources are recognised by type token.
"""
