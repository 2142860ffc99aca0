/* Wrapper header for bindgen - includes the generated spandsp.h umbrella header */
#include "spandsp.h"
