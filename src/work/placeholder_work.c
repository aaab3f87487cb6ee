/* placeholder until the module lands */
typedef int odm_work__placeholder;
