; Go: functions, methods (the receiver's type qualifies the name: `(*Server) Start` ->
; Server.Start, done in symbols.py), struct types as classes, interface types as interfaces.
; Go doc comments are the // lines right above the declaration.

((comment)* @doc
  .
  (function_declaration name: (identifier) @name) @definition.function)

((comment)* @doc
  .
  (method_declaration name: (field_identifier) @name) @definition.method)

((comment)* @doc
  .
  (type_declaration
    (type_spec name: (type_identifier) @name type: (struct_type))) @definition.class)

((comment)* @doc
  .
  (type_declaration
    (type_spec name: (type_identifier) @name type: (interface_type))) @definition.interface)
