/* placeholder until the module lands */
typedef int odm_schema__placeholder;
