"""Knowledge-base retrieval: load articles, split them, embed them and search them with FAISS.

This layer sits between `training` (errors, device, encoder resolution), which it uses, and
`chatbot`, which uses it. It never imports `chatbot` or `ui`. Import the submodules directly
(`retrieval.index`, `retrieval.documents`, ...), so that importing the package stays cheap.
"""
