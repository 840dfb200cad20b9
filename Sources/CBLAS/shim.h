// OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
#include <cblas.h>
// Not declared by every cblas.h, but exported by OpenBLAS.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
