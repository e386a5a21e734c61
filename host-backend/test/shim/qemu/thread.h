/* Stand-in for QEMU's qemu/thread.h: QemuMutex on pthreads. */
#ifndef VCD_SHIM_THREAD_H
#define VCD_SHIM_THREAD_H

#include <pthread.h>

typedef pthread_mutex_t QemuMutex;
#define qemu_mutex_init(m)    pthread_mutex_init((m), NULL)
#define qemu_mutex_destroy(m) pthread_mutex_destroy(m)
#define qemu_mutex_lock(m)    pthread_mutex_lock(m)
#define qemu_mutex_unlock(m)  pthread_mutex_unlock(m)

#endif
