//! The mount table and path resolution.
//!
//! A [`Location`] is the chain of directories from the root to a node, with
//! the name of each step. Resolving `..` drops the last step, so `..` at the
//! root of a mounted file system returns to the directory it is mounted on,
//! and `getcwd` joins the names.

use alloc::{
    string::{String, ToString},
    sync::Arc,
    vec,
    vec::Vec,
};

use spin::RwLock;

use crate::{
    LinuxError, MAX_SYMLINKS, NAME_MAX, NodeType, PATH_MAX, VfsResult,
    node::{FileSystem, NodeId, NodeRef},
};

/// A resolved node together with the directories that lead to it.
#[derive(Clone)]
pub struct Location {
    /// Steps from the root: the root itself (with an empty name) comes first.
    steps: Vec<(String, NodeRef)>,
}

impl Location {
    pub(crate) fn new_root(root: NodeRef) -> Self {
        Self {
            steps: vec![(String::new(), root)],
        }
    }

    /// Returns the node this location names.
    pub fn node(&self) -> &NodeRef {
        &self.steps[self.steps.len() - 1].1
    }

    /// Returns the absolute path, `/` for the root.
    pub fn path(&self) -> String {
        if self.steps.len() == 1 {
            return "/".to_string();
        }
        let mut path = String::new();
        for (name, _) in &self.steps[1..] {
            path.push('/');
            path.push_str(name);
        }
        path
    }

    /// Returns the name of the last step; empty for the root.
    pub fn name(&self) -> &str {
        &self.steps[self.steps.len() - 1].0
    }

    /// Returns whether this is the root of the whole tree.
    pub fn is_root(&self) -> bool {
        self.steps.len() == 1
    }

    /// Returns the location of the parent directory; the root is its own parent.
    pub fn parent(&self) -> Location {
        let mut parent = self.clone();
        if parent.steps.len() > 1 {
            parent.steps.pop();
        }
        parent
    }

    /// Returns whether `other` is this location or lies below it.
    pub fn is_ancestor_of(&self, other: &Location) -> bool {
        self.steps.len() <= other.steps.len()
            && self
                .steps
                .iter()
                .zip(&other.steps)
                .all(|((_, a), (_, b))| a.id() == b.id())
    }

    /// Returns the location of `node`, an entry named `name` of this directory.
    pub fn join(&self, name: &str, node: NodeRef) -> Location {
        let mut child = self.clone();
        child.push(name, node);
        child
    }

    fn push(&mut self, name: &str, node: NodeRef) {
        self.steps.push((name.to_string(), node));
    }
}

struct Mount {
    /// The directory that the file system covers.
    point: NodeId,
    path: String,
    fs: Arc<dyn FileSystem>,
    root: NodeRef,
}

/// The mounted file systems of the kernel: a root file system and file
/// systems mounted on its directories.
pub struct MountTable {
    root_fs: Arc<dyn FileSystem>,
    root: NodeRef,
    mounts: RwLock<Vec<Mount>>,
}

/// Result of [`MountTable::resolve_parent`].
pub struct ParentAndName<'a> {
    /// The directory that contains (or will contain) the last component.
    pub parent: Location,
    /// The last component; `.` for a path that names the root only (`/`).
    pub name: &'a str,
    /// The path ended with `/`, so the last component must be a directory.
    pub trailing_slash: bool,
}

impl MountTable {
    pub fn new(root_fs: Arc<dyn FileSystem>) -> Self {
        let root = root_fs.root();
        Self {
            root_fs,
            root,
            mounts: RwLock::new(Vec::new()),
        }
    }

    /// Returns the location of `/`.
    pub fn root(&self) -> Location {
        Location::new_root(self.root.clone())
    }

    /// Mounts `fs` on the existing directory `path` (absolute).
    pub fn mount(&self, path: &str, fs: Arc<dyn FileSystem>) -> VfsResult<()> {
        let location = self.resolve(&self.root(), path, true)?;
        if location.node().node_type() != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        if location.is_root() {
            return Err(LinuxError::EBUSY);
        }
        let mut mounts = self.mounts.write();
        let point = location.node().id();
        if mounts.iter().any(|mount| mount.point == point) {
            return Err(LinuxError::EBUSY);
        }
        log::info!("vfs: mounted {} on {}", fs.name(), location.path());
        let root = fs.root();
        mounts.push(Mount {
            point,
            path: location.path(),
            fs,
            root,
        });
        Ok(())
    }

    /// Writes the cached data of every mounted file system to its device.
    pub fn sync_all(&self) -> VfsResult<()> {
        let mut result = Ok(());
        for mount in self.mounts.read().iter() {
            if let Err(error) = mount.fs.sync() {
                log::warn!("vfs: sync of {} failed: {:?}", mount.path, error);
                result = Err(error);
            }
        }
        if let Err(error) = self.root_fs.sync() {
            log::warn!("vfs: sync of / failed: {:?}", error);
            result = Err(error);
        }
        result
    }

    /// Unmounts every file system, the root last, so that their devices are
    /// clean before power-off. Returns the first error.
    pub fn unmount_all(&self) -> VfsResult<()> {
        let mut result = Ok(());
        let mut mounts = self.mounts.write();
        while let Some(mount) = mounts.pop() {
            if let Err(error) = mount.fs.unmount() {
                log::warn!("vfs: unmount of {} failed: {:?}", mount.path, error);
                result = result.and(Err(error));
            }
        }
        if let Err(error) = self.root_fs.unmount() {
            log::warn!("vfs: unmount of / failed: {:?}", error);
            result = result.and(Err(error));
        }
        result
    }

    /// Returns the mount points and file-system names, for `/proc/mounts`.
    pub fn mount_list(&self) -> Vec<(String, &'static str)> {
        let mut list = vec![("/".to_string(), self.root_fs.name())];
        list.extend(
            self.mounts
                .read()
                .iter()
                .map(|mount| (mount.path.clone(), mount.fs.name())),
        );
        list
    }

    /// Returns the file system that `location` belongs to.
    pub fn filesystem_of(&self, location: &Location) -> Arc<dyn FileSystem> {
        let dev = location.node().id().dev;
        self.mounts
            .read()
            .iter()
            .find(|mount| mount.root.id().dev == dev)
            .map(|mount| mount.fs.clone())
            .unwrap_or_else(|| self.root_fs.clone())
    }

    /// Replaces a mount point by the root of the file system mounted on it.
    fn cover(&self, node: NodeRef) -> NodeRef {
        if node.node_type() != NodeType::Directory {
            return node;
        }
        let mounts = self.mounts.read();
        if mounts.is_empty() {
            return node;
        }
        let id = node.id();
        match mounts.iter().find(|mount| mount.point == id) {
            Some(mount) => mount.root.clone(),
            None => node,
        }
    }

    /// Resolves `path` from `base` (used when `path` is relative).
    ///
    /// `follow_last` selects whether a symbolic link in the last component is
    /// followed; links in earlier components always are, and so is the last
    /// one when the path ends with `/`.
    pub fn resolve(&self, base: &Location, path: &str, follow_last: bool) -> VfsResult<Location> {
        check_path_length(path)?;
        let mut location = self.start_of(base, path);
        let mut links = 0;
        self.walk(&mut location, path, follow_last, &mut links)?;
        Ok(location)
    }

    /// Resolves every component of `path` but the last, which is returned as
    /// a name, for operations that create or remove that name.
    pub fn resolve_parent<'a>(&self, base: &Location, path: &'a str) -> VfsResult<ParentAndName<'a>> {
        check_path_length(path)?;
        let trimmed = path.trim_end_matches('/');
        let trailing_slash = trimmed.len() != path.len();
        if trimmed.is_empty() {
            // "/" or "//": the root itself.
            return Ok(ParentAndName {
                parent: self.root(),
                name: ".",
                trailing_slash,
            });
        }
        let (dir_part, name) = match trimmed.rfind('/') {
            Some(index) => (&trimmed[..=index], &trimmed[index + 1..]),
            None => ("", trimmed),
        };
        if name.len() > NAME_MAX {
            return Err(LinuxError::ENAMETOOLONG);
        }
        let mut parent = self.start_of(base, dir_part);
        if !dir_part.is_empty() {
            let mut links = 0;
            self.walk(&mut parent, dir_part, true, &mut links)?;
        }
        if parent.node().node_type() != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        Ok(ParentAndName {
            parent,
            name,
            trailing_slash,
        })
    }

    /// Looks up `name` in the directory `parent` and crosses a mount point,
    /// without following a symbolic link. Handles `.` and `..`.
    pub fn lookup_child(&self, parent: &Location, name: &str) -> VfsResult<Location> {
        let mut location = parent.clone();
        let mut links = 0;
        self.step(&mut location, name, false, &mut links)?;
        Ok(location)
    }

    /// Returns the location a walk of `path` starts from: the root for an
    /// absolute path, without copying the steps of `base`, else `base`.
    fn start_of(&self, base: &Location, path: &str) -> Location {
        if path.starts_with('/') {
            self.root()
        } else {
            base.clone()
        }
    }

    fn walk(
        &self,
        location: &mut Location,
        path: &str,
        follow_last: bool,
        links: &mut u32,
    ) -> VfsResult<()> {
        if path.is_empty() {
            return Err(LinuxError::ENOENT);
        }
        if path.starts_with('/') {
            location.steps.truncate(1);
            location.steps[0].1 = self.root.clone();
        }
        let must_be_directory = path.ends_with('/');
        let mut components = path.split('/').filter(|c| !c.is_empty()).peekable();
        while let Some(component) = components.next() {
            let is_last = components.peek().is_none();
            let follow = !is_last || follow_last || must_be_directory;
            self.step(location, component, follow, links)?;
        }
        if must_be_directory && location.node().node_type() != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        Ok(())
    }

    fn step(
        &self,
        location: &mut Location,
        component: &str,
        follow: bool,
        links: &mut u32,
    ) -> VfsResult<()> {
        if component.len() > NAME_MAX {
            return Err(LinuxError::ENAMETOOLONG);
        }
        if location.node().node_type() != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        match component {
            "." => return Ok(()),
            ".." => {
                if location.steps.len() > 1 {
                    location.steps.pop();
                }
                return Ok(());
            }
            _ => {}
        }
        let child = self.cover(location.node().lookup(component)?);
        if follow && child.node_type() == NodeType::Symlink {
            *links += 1;
            if *links > MAX_SYMLINKS {
                return Err(LinuxError::ELOOP);
            }
            let target = child.readlink()?;
            return self.walk(location, &target, true, links);
        }
        location.push(component, child);
        Ok(())
    }
}

fn check_path_length(path: &str) -> VfsResult<()> {
    // PATH_MAX counts the terminating NUL.
    if path.len() >= PATH_MAX {
        return Err(LinuxError::ENAMETOOLONG);
    }
    Ok(())
}
