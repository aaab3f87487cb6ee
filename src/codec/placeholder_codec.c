/* placeholder until the module lands */
typedef int odm_codec__placeholder;
