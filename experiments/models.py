"""Tables and their invariants (constraints, indexes); no business workflows."""
