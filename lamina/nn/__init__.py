"""Network building blocks used by more than one codec (lamina.nn.*)."""
