"""One file per schema step; each is frozen once it has shipped."""
