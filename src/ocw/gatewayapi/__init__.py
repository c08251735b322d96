"""The Gateway API as its specification defines it: which HTTPRoute rule a request matches, and what the rule does."""
