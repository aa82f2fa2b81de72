; C: function definitions (not prototypes: a header's declaration is not the code a person is
; looking for) and struct/union/enum types with a body, as classes. The comment block right
; above a definition is its doc.

((comment)* @doc
  .
  (function_definition
    declarator: [(function_declarator declarator: (identifier) @name)
                 (pointer_declarator
                   declarator: [(function_declarator declarator: (identifier) @name)
                                (pointer_declarator
                                  declarator: (function_declarator
                                                declarator: (identifier) @name))])]) @definition.function)

((comment)* @doc
  .
  [(struct_specifier name: (type_identifier) @name body: (field_declaration_list))
   (union_specifier name: (type_identifier) @name body: (field_declaration_list))] @definition.class)

((comment)* @doc
  .
  (type_definition
    type: [(struct_specifier name: (type_identifier) @name body: (field_declaration_list))
           (union_specifier name: (type_identifier) @name body: (field_declaration_list))] @definition.class))
