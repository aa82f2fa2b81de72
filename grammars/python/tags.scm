; Python: classes and functions (methods are functions inside a class; symbols.py decides).
; The docstring is the first statement of the body when it is a plain string literal.

(class_definition
  name: (identifier) @name
  body: (block . (expression_statement . (string) @doc .)?)) @definition.class

(function_definition
  name: (identifier) @name
  body: (block . (expression_statement . (string) @doc .)?)) @definition.function
