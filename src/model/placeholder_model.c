/* placeholder until the module lands */
typedef int odm_model__placeholder;
