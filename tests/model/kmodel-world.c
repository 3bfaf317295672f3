/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the kernel model's state (kmodel-world.h): files under <dev>/vfio/.kmodel shared by every
 * process of a test, and the locks whose holders stand for open kernel objects. */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "kmodel-world.h"
#include "macro.h"
#include "pci-address.h"
#include "string-util.h"
#include "strv.h"

/* What .kmodel/<pf>.token holds: the token and the identity of the PF's driver binding it belongs
 * to (the inode and ctime of the PF's driver link, which a rebind replaces). */
typedef struct TokenRecord {
        uint8_t token[TOKEN_SIZE];
        uint64_t bind_ino;
        int64_t bind_sec;
        int64_t bind_nsec;
} TokenRecord;

static char last_message[256];

static int read_file_at(const char *path, void *buf, size_t size, size_t *ret_size);
static int write_file_at(const char *path, const void *buf, size_t size);

const char *kmodel_last_message(void) {
        return last_message;
}

void kmodel_clear_message(void) {
        last_message[0] = '\0';
}

World *world_free(World *w) {
        if (!w)
                return NULL;
        safe_close(w->lock_fd); /* releases the world lock */
        free(w->vfio_dir);
        free(w->state_dir);
        free(w->sys_root);
        return mfree(w);
}

/* The model's internal state belongs to "the kernel", not to whoever touched it first: anyone who
 * may open a node may cause state changes, so the files are world-writable regardless of umask. */
static int mkdir_shared(const char *path) {
        if (mkdir(path, 0777) < 0) {
                if (errno != EEXIST)
                        return negative_errno();
                return 0;
        }
        (void) chmod(path, 0777);
        return 0;
}

int world_open_shared(const char *path, int flags) {
        int fd;

        fd = open(path, flags | O_CLOEXEC | O_CREAT | O_NOCTTY, 0666);
        if (fd < 0)
                return negative_errno();
        (void) fchmod(fd, 0666);
        return fd;
}

int world_create_held(char *path_template) {
        int fd, r;

        fd = mkostemp(path_template, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        (void) fchmod(fd, 0666);
        if (flock(fd, LOCK_SH) < 0) {
                r = negative_errno();
                (void) unlink(path_template);
                safe_close(fd);
                return r;
        }
        return fd;
}

int world_open(const char *vfio_dir, World **ret) {
        _cleanup_(world_freep) World *w = NULL;
        _cleanup_free_ char *sub = NULL;
        int r;

        w = calloc(1, sizeof(World));
        if (!w)
                return -ENOMEM;
        w->lock_fd = -1;
        w->vfio_dir = strdup(vfio_dir);
        if (!w->vfio_dir || asprintf(&w->state_dir, "%s/" KMODEL_STATE_DIR, vfio_dir) < 0 ||
            asprintf(&w->sys_root, "%s/" KMODEL_SYSFS_LINK, vfio_dir) < 0)
                return -ENOMEM;

        r = mkdir_shared(w->state_dir);
        if (r < 0)
                return r;
        for (size_t i = 0; i < 3; i++) {
                static const char *const subdirs[] = { "dev", "containers", "cdev" };

                sub = mfree(sub);
                if (asprintf(&sub, "%s/%s", w->state_dir, subdirs[i]) < 0)
                        return -ENOMEM;
                r = mkdir_shared(sub);
                if (r < 0)
                        return r;
        }

        sub = mfree(sub);
        if (asprintf(&sub, "%s/lock", w->state_dir) < 0)
                return -ENOMEM;
        w->lock_fd = world_open_shared(sub, O_RDWR);
        if (w->lock_fd < 0)
                return w->lock_fd;
        while (flock(w->lock_fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return negative_errno();

        *ret = TAKE_PTR(w);
        return 0;
}

int world_open_dev(const char *dev_root, World **ret) {
        _cleanup_free_ char *vfio_dir = NULL;

        if (!dev_root)
                return -EINVAL;
        if (asprintf(&vfio_dir, "%s/vfio", dev_root) < 0)
                return -ENOMEM;
        return world_open(vfio_dir, ret);
}

/* Splits "<dir>/<base>" in place; false if there is no '/' or either part is empty. */
static bool path_split(char *path, char **ret_dir, char **ret_base) {
        char *slash = strrchr(path, '/');

        if (!slash || slash == path || !slash[1])
                return false;
        *slash = '\0';
        *ret_dir = path;
        *ret_base = slash + 1;
        return true;
}

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char) *s))
                        return false;
        return true;
}

int fd_identify(int fd, FdId *ret) {
        char proc[64], path[PATH_MAX], *dir, *base, *parent, *kind_dir;
        struct stat st;
        ssize_t n;

        if (fcntl(fd, F_GETFD) < 0)
                return -EBADF;

        *ret = (FdId) { .kind = KMODEL_FD_OTHER };
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        n = readlink(proc, path, sizeof path - 1);
        if (n < 0)
                return negative_errno();
        path[n] = '\0';
        if (path[0] != '/' || !path_split(path, &dir, &base) || strlen(base) > NAME_MAX)
                return 0; /* a socket, a pipe, an anonymous inode... */

        /* <dev>/iommu: an iommufd, if <dev>/vfio is a model world. */
        if (streq(base, "iommu")) {
                char link[PATH_MAX];

                if ((size_t) snprintf(link, sizeof link, "%s/vfio/" KMODEL_SYSFS_LINK, dir) < sizeof link &&
                    lstat(link, &st) >= 0 && strlen(dir) + STRLEN("/vfio") < sizeof ret->vfio_dir) {
                        ret->kind = KMODEL_FD_IOMMUFD;
                        snprintf(ret->vfio_dir, sizeof ret->vfio_dir, "%s/vfio", dir);
                        strcpy(ret->name, base);
                }
                return 0;
        }

        /* <vfio>/<n>: a group node, if <vfio> is a model world. */
        if (all_digits(base)) {
                char link[PATH_MAX];

                if ((size_t) snprintf(link, sizeof link, "%s/" KMODEL_SYSFS_LINK, dir) < sizeof link &&
                    lstat(link, &st) >= 0 && strlen(dir) < sizeof ret->vfio_dir) {
                        ret->kind = KMODEL_FD_GROUP;
                        strcpy(ret->vfio_dir, dir);
                        strcpy(ret->name, base);
                }
                return 0;
        }

        /* <vfio>/.kmodel/dev/<addr> and <vfio>/.kmodel/containers/<id> */
        if (!path_split(dir, &parent, &kind_dir))
                return 0;
        {
                char *vfio_dir, *state;

                if (!path_split(parent, &vfio_dir, &state) || !streq(state, KMODEL_STATE_DIR) ||
                    strlen(vfio_dir) >= sizeof ret->vfio_dir)
                        return 0;
                const char *at = strchr(base, '@');

                if (streq(kind_dir, "dev") && pci_address_is_valid(base)) {
                        ret->kind = KMODEL_FD_DEVICE;
                        strcpy(ret->device, base);
                } else if (streq(kind_dir, "containers"))
                        ret->kind = KMODEL_FD_CONTAINER;
                else if (streq(kind_dir, "cdev") && at && (size_t) (at - base) < sizeof ret->device) {
                        /* <addr>@<random>: one open file of the device's cdev */
                        memcpy(ret->device, base, at - base);
                        ret->device[at - base] = '\0';
                        if (!pci_address_is_valid(ret->device))
                                return 0;
                        ret->kind = KMODEL_FD_CDEV;
                } else
                        return 0;
                strcpy(ret->vfio_dir, vfio_dir);
                strcpy(ret->name, base);
        }
        return 0;
}


void world_log(World *w, const char *address, const char *message) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;

        /* As pci_info() prints it: driver name, device name, text. */
        snprintf(last_message, sizeof last_message, VFIO_PCI " %s: %s", address, message);
        if (asprintf(&path, "%s/dmesg", w->state_dir) < 0)
                return;
        fd = world_open_shared(path, O_WRONLY | O_APPEND);
        if (fd >= 0)
                (void) dprintf(fd, "%s\n", last_message);
}

int world_device(World *w, const char *address, PciDevice **ret) {
        return sysfs_device_read(w->sys_root, address, ret);
}


static int cmp_strp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The devices of an IOMMU group, sorted, from <sys>/kernel/iommu_groups/<n>/devices. */
int world_group_members(World *w, int group, char ***ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;

        if (asprintf(&path, "%s/kernel/iommu_groups/%d/devices", w->sys_root, group) < 0)
                return -ENOMEM;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        d = opendir(path);
        if (!d) {
                if (errno != ENOENT)
                        return negative_errno();
                *ret = TAKE_PTR(l);
                return 0;
        }
        while ((de = readdir(d))) {
                char **nl;

                if (!pci_address_is_valid(de->d_name))
                        continue;
                nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl) {
                        closedir(d);
                        return -ENOMEM;
                }
                l = nl;
                l[n] = strdup(de->d_name);
                if (!l[n]) {
                        closedir(d);
                        return -ENOMEM;
                }
                l[++n] = NULL;
        }
        closedir(d);
        qsort(l, n, sizeof(char *), cmp_strp);
        *ret = TAKE_PTR(l);
        return 0;
}

/* 1 if someone holds a lock on the file at `path` (our probe lock goes with the fd), 0 if nobody
 * does or it does not exist. */
static int file_is_locked(int dir_fd, const char *path) {
        _cleanup_close_ int fd = -1;

        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? 1 : negative_errno();
        return 0;
}

/* Opened through the group API: someone holds the shared lock of one of its device fds. */
static int device_group_open(World *w, const char *address) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/dev/%s", w->state_dir, address) < 0)
                return -ENOMEM;
        return file_is_locked(AT_FDCWD, path);
}

int world_cdev_bound(World *w, const char *name) {
        _cleanup_free_ char *path = NULL;
        char buf[16];
        size_t n = 0;
        int r;

        if (asprintf(&path, "%s/cdev/%s", w->state_dir, name) < 0)
                return -ENOMEM;
        r = read_file_at(path, buf, sizeof buf - 1, &n);
        if (r < 0)
                return r;
        buf[n] = '\0';
        return streq(buf, "bound\n");
}

int world_cdev_set_bound(World *w, const char *name) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/cdev/%s", w->state_dir, name) < 0)
                return -ENOMEM;
        return write_file_at(path, "bound\n", STRLEN("bound\n"));
}

/* Calls f for each open file of a cdev in the world (its state file still locked by an fd),
 * with the device's address; stops at the first non-zero answer. The files of cdev fds that are
 * all closed are removed on the way. */
static int cdev_files_foreach(World *w, int (*f)(World *w, const char *name, const char *address, void *userdata),
                              void *userdata) {
        _cleanup_free_ char *dir = NULL;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (asprintf(&dir, "%s/cdev", w->state_dir) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while (r == 0 && (de = readdir(d))) {
                char address[PCI_ADDRESS_MAX];
                const char *at = strchr(de->d_name, '@');

                if (!at || (size_t) (at - de->d_name) >= sizeof address)
                        continue;
                memcpy(address, de->d_name, at - de->d_name);
                address[at - de->d_name] = '\0';
                r = file_is_locked(dirfd(d), de->d_name);
                if (r == 0) {
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (r > 0)
                        r = f(w, de->d_name, address, userdata);
        }
        closedir(d);
        return r;
}

static int cdev_bound_for(World *w, const char *name, const char *address, void *userdata) {
        int r;

        if (!streq(address, userdata))
                return 0;
        r = world_cdev_bound(w, name);
        return r == -ENOENT ? 0 : r;
}

int world_device_cdev_bound(World *w, const char *address) {
        return cdev_files_foreach(w, cdev_bound_for, (void *) address);
}

/* A device is open while it is opened through the group API or bound through its cdev (the
 * kernel's open_count: vfio_df_open() is the bind on the cdev path). */
int world_device_is_open(World *w, const char *address) {
        int r;

        r = device_group_open(w, address);
        if (r != 0)
                return r;
        return world_device_cdev_bound(w, address);
}

/* group->opened_file: the node is held, or a device was opened through it (device fds hold the
 * group file). */
int world_group_opened_file(World *w, int group) {
        _cleanup_strv_free_ char **members = NULL;
        _cleanup_free_ char *node = NULL;
        int r;

        if (asprintf(&node, "%s/%d", w->vfio_dir, group) < 0)
                return -ENOMEM;
        r = file_is_locked(AT_FDCWD, node);
        if (r != 0)
                return r;
        r = world_group_members(w, group, &members);
        if (r < 0)
                return r;
        for (char **m = members; *m; m++) {
                r = device_group_open(w, *m);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* vf_token->users: the PF's VFs that are open (vfio_pci_core_finish_enable/close_device). */
int world_vf_users(World *w, const PciDevice *pf) {
        int users = 0, r;

        for (size_t i = 0; i < pf->n_vfs; i++) {
                r = world_device_is_open(w, pf->vfs[i]);
                if (r < 0)
                        return r;
                users += r;
        }
        return users;
}

/* A group is busy while its node is open or any device fd of it is (device fds hold a reference to
 * the group file, so vfio_group_fops_release() only runs once they are all closed). */
int world_group_devices_open(World *w, int group) {
        _cleanup_strv_free_ char **members = NULL;
        int r;

        r = world_group_members(w, group, &members);
        if (r < 0)
                return r;
        for (char **m = members; *m; m++) {
                r = world_device_is_open(w, *m);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* iommu_group_claim_dma_owner() fails while a device of the group is bound to a host driver that
 * does DMA; unbound devices and drivers that manage no DMA (pci-stub, pcieport) leave it viable. */
int world_group_viable(World *w, int group) {
        _cleanup_strv_free_ char **members = NULL;
        int r;

        r = world_group_members(w, group, &members);
        if (r < 0)
                return r;
        for (char **m = members; *m; m++) {
                _cleanup_(pci_device_freep) PciDevice *d = NULL;

                r = world_device(w, *m, &d);
                if (r == -ENOENT || r == -ENODEV)
                        continue;
                if (r < 0)
                        return r;
                if (d->driver && !driver_is_vfio(d) && !streq(d->driver, "pci-stub") &&
                    !streq(d->driver, "pcieport"))
                        return 0;
        }
        return 1;
}

static int read_file_at(const char *path, void *buf, size_t size, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, size);
        if (n < 0)
                return negative_errno();
        *ret_size = (size_t) n;
        return 0;
}

/* Writes in place: container state files are the inodes container fds refer to, so they must
 * never be replaced by a rename. */
static int write_file_at(const char *path, const void *buf, size_t size) {
        _cleanup_close_ int fd = -1;

        fd = world_open_shared(path, O_WRONLY | O_TRUNC);
        if (fd < 0)
                return fd;
        if (write(fd, buf, size) != (ssize_t) size)
                return -EIO;
        return 0;
}

static int world_bind_stamp(World *w, const char *pf, TokenRecord *rec) {
        _cleanup_free_ char *path = NULL;
        struct stat st;

        if (asprintf(&path, "%s/bus/pci/devices/%s/driver", w->sys_root, pf) < 0)
                return -ENOMEM;
        if (lstat(path, &st) < 0)
                return negative_errno();
        rec->bind_ino = st.st_ino;
        rec->bind_sec = st.st_ctim.tv_sec;
        rec->bind_nsec = st.st_ctim.tv_nsec;
        return 0;
}

int world_token_store(World *w, const char *pf, const Token *t) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        TokenRecord rec = {};
        int r;

        r = world_bind_stamp(w, pf, &rec);
        if (r < 0)
                return r;
        memcpy(rec.token, t->bytes, TOKEN_SIZE);
        if (asprintf(&path, "%s/%s.token", w->state_dir, pf) < 0 ||
            asprintf(&tmp, "%s/.%s.token.tmp", w->state_dir, pf) < 0) {
                explicit_bzero(&rec, sizeof rec);
                return -ENOMEM;
        }
        r = write_file_at(tmp, &rec, sizeof rec);
        explicit_bzero(&rec, sizeof rec);
        if (r < 0)
                return r;
        if (rename(tmp, path) < 0)
                return negative_errno();
        return 0;
}

/* vfio_pci_vf_init() gives a PF a random token when vfio-pci binds it; the model creates it the
 * first time it is needed after the binding it belongs to. */
int world_token_load(World *w, const char *pf, Token *ret) {
        _cleanup_free_ char *path = NULL;
        TokenRecord rec = {}, now = {};
        size_t n = 0;
        int r;

        r = world_bind_stamp(w, pf, &now);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/%s.token", w->state_dir, pf) < 0)
                return -ENOMEM;
        r = read_file_at(path, &rec, sizeof rec, &n);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r < 0 || n != sizeof rec || rec.bind_ino != now.bind_ino || rec.bind_sec != now.bind_sec ||
            rec.bind_nsec != now.bind_nsec) {
                explicit_bzero(&rec, sizeof rec);
                token_generate(ret);
                return world_token_store(w, pf, ret);
        }
        memcpy(ret->bytes, rec.token, TOKEN_SIZE);
        explicit_bzero(&rec, sizeof rec);
        return 0;
}

static int container_path(World *w, const char *id, char **ret) {
        return asprintf(ret, "%s/containers/%s", w->state_dir, id) < 0 ? -ENOMEM : 0;
}

int world_container_read(World *w, const char *id, ContainerState *ret) {
        _cleanup_free_ char *path = NULL;
        char buf[64];
        size_t n;
        int r;

        r = container_path(w, id, &path);
        if (r < 0)
                return r;
        r = read_file_at(path, buf, sizeof buf - 1, &n);
        if (r < 0)
                return r;
        buf[n] = '\0';
        if (sscanf(buf, "groups=%u iommu=%lu", &ret->groups, &ret->iommu) != 2)
                return -EBADMSG;
        return 0;
}

int world_container_write(World *w, const char *id, const ContainerState *s) {
        _cleanup_free_ char *path = NULL;
        char buf[64];
        int r, n;

        r = container_path(w, id, &path);
        if (r < 0)
                return r;
        n = snprintf(buf, sizeof buf, "groups=%u iommu=%lu\n", s->groups, s->iommu);
        return write_file_at(path, buf, (size_t) n);
}

/* The group's container (group->container), as the id of its state file; "" for none. */
int world_group_container(World *w, const char *group, char ret[static NAME_MAX + 1]) {
        _cleanup_free_ char *path = NULL;
        size_t n = 0;
        int r;

        if (asprintf(&path, "%s/group-%s", w->state_dir, group) < 0)
                return -ENOMEM;
        r = read_file_at(path, ret, NAME_MAX, &n);
        if (r < 0 && r != -ENOENT)
                return r;
        ret[r < 0 ? 0 : n] = '\0';
        return 0;
}

int world_group_set_container(World *w, const char *group, const char *id) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/group-%s", w->state_dir, group) < 0)
                return -ENOMEM;
        return write_file_at(path, id, strlen(id));
}

/* Whether any group-<n> file names container `id`: a group keeps its container alive after the
 * container fd is closed, and until the group is next opened its file still names it. */
static int container_referenced(World *w, DIR *state, const char *id) {
        struct dirent *de;

        rewinddir(state);
        while ((de = readdir(state))) {
                _cleanup_free_ char *path = NULL;
                char current[NAME_MAX + 1];
                size_t n = 0;
                int r;

                if (strncmp(de->d_name, "group-", 6) != 0)
                        continue;
                if (asprintf(&path, "%s/%s", w->state_dir, de->d_name) < 0)
                        return -ENOMEM;
                r = read_file_at(path, current, NAME_MAX, &n);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                current[n] = '\0';
                if (streq(current, id))
                        return 1;
        }
        return 0;
}

int world_gc_containers(World *w) {
        _cleanup_free_ char *dir = NULL;
        struct dirent *de;
        DIR *state, *containers;
        int r = 0;

        if (asprintf(&dir, "%s/containers", w->state_dir) < 0)
                return -ENOMEM;
        state = opendir(w->state_dir);
        if (!state)
                return negative_errno();
        containers = opendir(dir);
        if (!containers) {
                r = negative_errno();
                closedir(state);
                return r;
        }
        while ((de = readdir(containers))) {
                _cleanup_close_ int fd = -1;

                if (strncmp(de->d_name, "c-", 2) != 0)
                        continue;
                r = container_referenced(w, state, de->d_name);
                if (r < 0)
                        break;
                if (r > 0)
                        continue;
                fd = openat(dirfd(containers), de->d_name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        continue;
                /* Container fds hold a shared lock: an exclusive one means nobody holds it. */
                if (flock(fd, LOCK_EX | LOCK_NB) >= 0)
                        (void) unlinkat(dirfd(containers), de->d_name, 0);
        }
        closedir(containers);
        closedir(state);
        return r < 0 ? r : 0;
}
