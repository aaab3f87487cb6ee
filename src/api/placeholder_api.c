/* placeholder until the module lands */
typedef int odm_api__placeholder;
