"""Dialogue manager, chat service, configuration and the `chatbot` command."""
