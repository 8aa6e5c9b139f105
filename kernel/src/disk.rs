//! The root disk: the first virtio-blk device, as the block device that
//! starry-vfs's ext4 layer reads and writes (rsext4's `BlockIo`).

use axdriver::AxBlockDevice;
use axdriver_block::BlockDriverOps;
use rsext4::{BlockIo, DeviceCapabilities, DeviceGeometry, Ext4Error, Ext4Result, SectorId};

/// A virtio-blk device. virtio-blk sectors are 512 bytes, and the driver
/// reads and writes any whole number of them in one request.
pub struct VirtioDisk {
    device: AxBlockDevice,
}

impl VirtioDisk {
    pub fn new(device: AxBlockDevice) -> Self {
        Self { device }
    }

    fn check(&self, len: usize, count: u32) -> Ext4Result<()> {
        let expected = count as usize * self.device.block_size();
        if len < expected {
            error!("disk: buffer of {len} bytes for {count} sectors");
            return Err(Ext4Error::io());
        }
        Ok(())
    }
}

impl BlockIo for VirtioDisk {
    fn write(&mut self, buffer: &[u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        self.check(buffer.len(), count)?;
        let len = count as usize * self.device.block_size();
        let start = crate::stats::start();
        let result = self.device.write_block(sector.raw(), &buffer[..len]);
        crate::stats::end_disk_request(true, count, start);
        result.map_err(|err| {
            error!("disk: writing {count} sectors at {} failed: {err:?}", sector.raw());
            Ext4Error::io()
        })
    }

    fn read(&mut self, buffer: &mut [u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        self.check(buffer.len(), count)?;
        let len = count as usize * self.device.block_size();
        let start = crate::stats::start();
        let result = self.device.read_block(sector.raw(), &mut buffer[..len]);
        crate::stats::end_disk_request(false, count, start);
        result.map_err(|err| {
            error!("disk: reading {count} sectors at {} failed: {err:?}", sector.raw());
            Ext4Error::io()
        })
    }

    fn geometry(&self) -> DeviceGeometry {
        DeviceGeometry::new(self.device.block_size() as u32, self.device.num_blocks())
    }

    fn capabilities(&self) -> DeviceCapabilities {
        DeviceCapabilities {
            flush: true,
            ..DeviceCapabilities::default()
        }
    }

    fn flush(&mut self) -> Ext4Result<()> {
        self.device.flush().map_err(|err| {
            error!("disk: flush failed: {err:?}");
            Ext4Error::io()
        })
    }
}
