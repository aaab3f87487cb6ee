/* placeholder until the module lands */
typedef int odm_http__placeholder;
