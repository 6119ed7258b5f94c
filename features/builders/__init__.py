"""features/builders."""
