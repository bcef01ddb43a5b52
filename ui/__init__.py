"""Gradio chat UI for customers, built on the chat service in `chatbot.service`.

Importing this package turns Gradio's usage analytics off. Gradio reads GRADIO_ANALYTICS_ENABLED
when a Blocks or a gradio_client Client is created, so it must be set before either exists.
`ui.app` also passes `analytics_enabled=False` to every Blocks it builds.
"""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
