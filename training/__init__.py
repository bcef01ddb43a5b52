"""Intent model training, its on-disk format and its runtime.

This is the lowest layer of the project: `retrieval` may use its errors, device selection and
encoder resolution, `chatbot` uses its runtime, and it imports neither of them.
"""
