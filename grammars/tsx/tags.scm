; TSX (TypeScript with JSX; same node names as typescript): the JavaScript definitions plus interfaces, abstract classes, interface method
; signatures and namespaces. A run of comments right above a definition is its doc (symbols.py
; keeps only the run that touches it); `export` wraps declarations, so the exported forms are
; matched separately to find the comment before the export_statement.

((comment)* @doc
  .
  [(function_declaration name: (identifier) @name)
   (generator_function_declaration name: (identifier) @name)] @definition.function)

((comment)* @doc
  .
  [(class_declaration name: (type_identifier) @name)
   (abstract_class_declaration name: (type_identifier) @name)] @definition.class)

((comment)* @doc
  .
  (interface_declaration name: (type_identifier) @name) @definition.interface)

((comment)* @doc
  .
  (internal_module name: [(identifier) (nested_identifier)] @name) @definition.module)

((comment)* @doc
  .
  [(method_definition name: [(property_identifier) (private_property_identifier)] @name)
   (method_signature name: (property_identifier) @name)
   (abstract_method_signature name: (property_identifier) @name)] @definition.method)

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
    declaration: [(class_declaration name: (type_identifier) @name)
                  (abstract_class_declaration name: (type_identifier) @name)] @definition.class))

((comment)* @doc
  .
  (export_statement
    declaration: (interface_declaration name: (type_identifier) @name) @definition.interface))

((comment)* @doc
  .
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator
        name: (identifier) @name
        value: [(arrow_function) (function)])) @definition.function))
