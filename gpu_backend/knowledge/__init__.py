"""The grounded diagnosis expert: a knowledge base per class (data/knowledge/*.toml) and rules over evidence."""

from .expert import Decision, decide
from .loader import BUNDLED_DIR, KnowledgeBase, KnowledgeBaseError, KnownClass, load_knowledge_base

__all__ = [
    "BUNDLED_DIR",
    "Decision",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "KnownClass",
    "decide",
    "load_knowledge_base",
]
