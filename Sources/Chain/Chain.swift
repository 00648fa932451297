// The Chain module; see DESIGN.md.
