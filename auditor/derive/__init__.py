"""Pure figures derived from a snapshot: scope, registration and licence figures, method reach, GPO precedence,
the methods rule. No I/O."""
