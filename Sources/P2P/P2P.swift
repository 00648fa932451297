// The P2P module; see DESIGN.md.
