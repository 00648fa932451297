// The Consensus module; see DESIGN.md.
