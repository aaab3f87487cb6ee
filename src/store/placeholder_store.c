/* placeholder until the module lands */
typedef int odm_store__placeholder;
