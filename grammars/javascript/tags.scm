; JavaScript: function declarations, classes, methods, and functions bound to a name
; (`const handler = () => ...`). A run of comments right above a definition is its doc
; (symbols.py keeps only the run that touches it). `export` wraps the declaration, so the
; comment sits before the export_statement: those forms are matched separately.

((comment)* @doc
  .
  [(function_declaration name: (identifier) @name)
   (generator_function_declaration name: (identifier) @name)] @definition.function)

((comment)* @doc
  .
  (class_declaration name: (identifier) @name) @definition.class)

((comment)* @doc
  .
  (method_definition name: [(property_identifier) (private_property_identifier)] @name) @definition.method)

((comment)* @doc
  .
  (lexical_declaration
    (variable_declarator
      name: (identifier) @name
      value: [(arrow_function) (function)])) @definition.function)

((comment)* @doc
  .
  (export_statement
    declaration: [(function_declaration name: (identifier) @name)
                  (generator_function_declaration name: (identifier) @name)] @definition.function))

((comment)* @doc
  .
  (export_statement
    declaration: (class_declaration name: (identifier) @name) @definition.class))

((comment)* @doc
  .
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator
        name: (identifier) @name
        value: [(arrow_function) (function)])) @definition.function))
